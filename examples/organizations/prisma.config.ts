// Prisma CLI configuration: the WebAssembly schema engine shipped in the `prisma` package, through
// the library's migrate-only driver adapter on DIRECT_URL (no engine download).
import { defineConfig } from 'prisma/config';
import { createMigrateAdapter } from 'nest-prisma-tenancy/prisma';

// schema.prisma names DATABASE_URL; with an adapter the CLI never connects through it.
process.env.DATABASE_URL ??= 'postgresql://unused-by-the-prisma-cli@localhost/unused';

export default defineConfig({
  experimental: { adapter: true },
  engine: 'js',
  schema: 'prisma/schema.prisma',
  adapter: async () => {
    const url = process.env.DIRECT_URL;
    if (!url) throw new Error('DIRECT_URL is not set (the owner role, for migrations)');
    return createMigrateAdapter(url);
  },
});
