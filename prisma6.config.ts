// Prisma 6.19 CLI configuration, for migrations only: `db:migrate`, `db:deploy`, `db:status`,
// `db:push`, `db:reset`, `db:drift` and `db:seed` run `node_modules/prisma6` (prisma@6.19.3 under an
// npm alias) with `--config prisma6.config.ts`. Its WebAssembly schema engine ships inside the
// package and connects through the library's migrate-only driver adapter on DIRECT_URL, so no engine
// is ever downloaded (Prisma 7's CLI only has the native engine, see prisma.config.ts).
//
// Prisma 7 refuses a datasource `url` in schema.prisma and Prisma 6.19 requires one, so this file
// gives the 6.19 CLI a copy of prisma/schema.prisma with a placeholder url (never read: the adapter
// connects) and without generators (the 7 CLI generates the client).
import { defineConfig } from 'prisma6/config';
import { loadDotEnv, readEnvironment } from './src/config/environment';
import { PRISMA6_SCHEMA, writePrisma6Schema } from './src/database/prisma6-schema';

loadDotEnv();
const environment = { ...process.env };
// Prisma 6.19's default engine type would want the native query engine.
process.env.PRISMA_CLIENT_ENGINE_TYPE = 'client';

writePrisma6Schema();

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: PRISMA6_SCHEMA,
  migrations: {
    path: 'prisma/migrations',
    seed: 'tsx prisma/seed.ts',
  },
  adapter: async () => {
    const { directUrl } = readEnvironment(environment, { secrets: false });
    if (!directUrl) {
      throw new Error(
        'DIRECT_URL is not set. Run Prisma through the npm scripts (npm run db:migrate, db:deploy, ...), ' +
          'which start the embedded PostgreSQL when no database is configured, or set DIRECT_URL ' +
          '(and DATABASE_URL) in .env, e.g. DIRECT_URL=postgresql://postgres:postgres@localhost:5432/app',
      );
    }
    const { createMigrateAdapter } = await import('nest-prisma-tenancy/prisma');
    return createMigrateAdapter(directUrl);
  },
});
