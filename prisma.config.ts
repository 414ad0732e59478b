// Prisma 7 CLI configuration: `prisma generate` and `prisma studio`. Run the CLI through the npm
// scripts (`npm run db:generate`, `db:studio`, ...): they validate the environment and start the
// embedded PostgreSQL when no database is configured.
//
// Migrations (`db:migrate`, `db:deploy`, `db:status`, `db:push`, `db:reset`, `db:drift`) run on
// Prisma 6.19's CLI with its WebAssembly schema engine instead: see prisma6.config.ts.
import { resolve } from 'node:path';
import { defineConfig } from 'prisma/config';
import { loadDotEnv } from './src/config/environment';

loadDotEnv();

// A stand-in for Prisma 7's native schema engine, which is downloaded from binaries.prisma.sh and
// unreachable offline. The CLI insists on the file before `generate`, `validate` and `format`
// although they never run it; the stub only explains, when something does run it, how to migrate
// instead. Set PRISMA_SCHEMA_ENGINE_BINARY yourself (to an empty value: download the real engine) to
// bypass it.
const STUB = resolve(__dirname, 'prisma/schema-engine-stub.sh');
process.env.PRISMA_SCHEMA_ENGINE_BINARY ??= STUB;
// The commands that do run the schema engine would fail on the stub with an unreadable "Could not
// parse schema engine response": say what to run instead.
if (
  process.env.PRISMA_SCHEMA_ENGINE_BINARY === STUB &&
  ['migrate', 'db'].includes(process.argv[2] ?? '')
) {
  throw new Error(
    `\`prisma ${process.argv.slice(2, 4).join(' ')}\` needs Prisma 7's native schema engine, which is ` +
      'not installed here (offline; prisma/schema-engine-stub.sh stands in for it). Use the npm ' +
      "scripts, which migrate with Prisma 6.19's WebAssembly engine: npm run db:migrate, db:deploy, " +
      'db:status, db:push, db:reset, db:seed, db:drift. With access to binaries.prisma.sh, run this ' +
      'CLI with PRISMA_SCHEMA_ENGINE_BINARY= (empty) to download and use the real engine.',
  );
}

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: {
    path: 'prisma/migrations',
    seed: 'tsx prisma/seed.ts',
  },
  // The owner's connection (Studio shows every tenant's rows; as app_runtime it would show none).
  // Unset for `prisma generate`, which never connects.
  ...(process.env.DIRECT_URL ? { datasource: { url: process.env.DIRECT_URL } } : {}),
});
