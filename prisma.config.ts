// Prisma CLI configuration. The CLI runs the WebAssembly schema engine that ships inside the
// `prisma` package, through a migrate-only driver adapter on DIRECT_URL, so no engine binary is
// ever downloaded. Run the CLI through the `db:*` npm scripts: they validate the environment and
// start the embedded PostgreSQL when no database is configured.
import { defineConfig } from 'prisma/config';
import { loadDotEnv, readEnvironment } from './src/config/environment';

loadDotEnv();
const environment = { ...process.env };
// schema.prisma must name a datasource url for the CLI to read it, but with a driver adapter
// configured the CLI never connects through it; a placeholder keeps `prisma generate` working on a
// fresh clone with no environment at all.
process.env.DATABASE_URL ??= 'postgresql://unused-by-the-prisma-cli@localhost/unused';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
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
    // Loaded only when a command connects: `prisma generate` (npm ci's postinstall) runs before the
    // library is built, and never calls this.
    const { createMigrateAdapter } = await import('nest-prisma-tenancy/prisma');
    return createMigrateAdapter(directUrl);
  },
});
